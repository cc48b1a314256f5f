Feature: Product qualification documents by category (English)
  The same policy read in English (R003.3): every category needs the general documents, plus its own
  industry documents; branded goods also need the brand owner's authorisation.

  @R003.3
  Scenario Outline: The documents each category needs
    Given Product category is <category>
    And Branded goods or not is <brand>
    And Documents uploaded is <required>
    When I evaluate "Product qualification documents by category" on 2024-01-01
    Then the outcome is "allow"
    And Required documents is <required>

    Examples:
      | category        | brand             | required                                                                                                                                      |
      | Other categories | Not branded goods | Business licence / individual business licence, ID of the legal representative / operator                                                    |
      | Cosmetics       | Branded goods     | Business licence / individual business licence, ID of the legal representative / operator, Cosmetics production licence, Filing certificate, Product conformity certificate, Authorisation certificate from the brand owner |
      | E-cigarettes    | Not branded goods | Business licence / individual business licence, ID of the legal representative / operator, Tobacco monopoly retail licence                  |
      | Veterinary drugs | Not branded goods | Business licence / individual business licence, ID of the legal representative / operator, Business permit, Approval number |

  @R003.3
  Scenario: Books need a publication business licence
    Given the facts:
      | fact                 | value                                                                                      |
      | Product category     | Books                                                                                      |
      | Branded goods or not | Not branded goods                                                                          |
      | Documents uploaded   | Business licence / individual business licence, ID of the legal representative / operator |
    When I evaluate "listing.documents" on 2024-01-01
    Then the outcome is "deny"
    And the reasons include "documents_missing"
    And the message is "Documents missing: Books needs Business licence / individual business licence, ID of the legal representative / operator, Publication business licence; uploaded: Business licence / individual business licence, ID of the legal representative / operator"

  @R003.3
  Scenario: Branded goods also need the brand owner's authorisation
    Given Product category is Medical devices
    And Branded goods or not is Branded goods
    And Documents uploaded is Business licence / individual business licence, ID of the legal representative / operator, Medical device business licence, Product registration / filing certificate
    When I evaluate "listing.documents" on 2024-01-01
    Then the outcome is "deny"
    And the reasons include "documents_complete"

  @R003.3
  Scenario: Food: a missing QS mark only warns
    Given Product category is Food
    And Branded goods or not is Not branded goods
    And Documents uploaded is Business licence / individual business licence, ID of the legal representative / operator, Food business licence, Product conformity certificate, Food production licence
    When I evaluate "listing.documents" on 2024-01-01
    Then the outcome is "allow"
    And the warnings include "qs_mark_if_required"
    And the message is "No QS certification mark uploaded: it is needed where the specific food type requires it"
