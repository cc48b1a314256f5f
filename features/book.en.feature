Feature: The whole book: one record, every policy that applies decided at once
  A platform keeps one record per merchant and asks the rule book what the merchant may do today
  under every rule at once. Each policy says whom it applies to (`applies when`); a policy the
  record lacks facts for reports its error in its own part, and the others are decided all the same.

  Background:
    Given the facts:
      | fact                      | value              |
      | account.kind              | personal           |
      | account.fans              | 999                |
      | account.real_name         | yes                |
      | product.special_category  | no                 |
      | account.role              | creator            |
      | shop.categories           | apparel_underwear  |

  Scenario: A personal creator below the follower threshold
    When I evaluate the whole book on 2023-12-20
    Then the whole book's outcome is "deny"
    And "enterprise.onboarding" does not apply
    And "official_account.own_store_only" does not apply
    And the part of "Douyin shopping cart opening"
    And the outcome is "deny"
    And the reasons include "fans_below_threshold"
    And the part of "shop.deposit"
    And the outcome is "allow"
    And 应缴保证金 is ¥500

  Scenario: Without a denial, a policy that cannot be decided leaves the book undecided
    Given account.fans is 1000
    When I evaluate the whole book on 2023-12-20
    Then the whole book's outcome is "undecided"
    And the part of "cart.metrics"
    And the evaluation fails with "cart.return_rate"

  Scenario: An approved OTC drug listing: the product audit's absolute ban prevails over the listing approval
    Given the facts:
      | fact                               | value                                                                                                    |
      | product.category                   | otc_drugs                                                                                                |
      | product.type                       | ordinary_goods                                                                                           |
      | product.audit_items_passed         | qc_report, brand_authorisation                                                                           |
      | product.base_qc_passed             | yes                                                                                                      |
      | shop.live_base_joined              | no                                                                                                       |
      | shop.deposit_paid                  | ¥2000                                                                                                    |
      | shop.deposit_required              | ¥500                                                                                                     |
      | shop.qualifications_approved       | yes                                                                                                      |
      | listing.review_class               | drug                                                                                                     |
      | listing.review_status              | approved                                                                                                 |
      | listing.brand_status               | branded_goods                                                                                            |
      | listing.fields                     | brand, category, description, detail_images, detail_video, main_images, name, price, qualification_documents, shipping_template, sku, stock |
      | listing.document_formats           | pdf                                                                                                      |
      | listing.documents_clear_complete   | yes                                                                                                      |
      | listing.documents_match_product    | yes                                                                                                      |
      | listing.documents_within_validity  | yes                                                                                                      |
      | listing.media_violations           | none                                                                                                     |
      | listing.submitted_on               | 2023-12-01                                                                                               |
    When I evaluate the whole book on 2023-12-20
    Then the whole book's outcome is "deny"
    And the conflict "otc_drug_listing" is settled in favour of "product.audit"
    And the conflict "deposit_floor_and_standard" is a known conflict
    And the part of "listing.approval"
    And the outcome is "allow"
    And the part of "product.audit"
    And the outcome is "deny"
    And the reasons include "prohibited_category"

  Scenario: The same listing for goods outside the prohibited categories, from a shop whose standard is exactly the audit floor: no conflict
    Given the facts:
      | fact                               | value                                                                                                    |
      | shop.categories                    | apparel_underwear                                                                                        |
      | account.kind                       | individual_business                                                                                      |
      | product.category                   | general_goods                                                                                            |
      | product.type                       | ordinary_goods                                                                                           |
      | product.audit_items_passed         | qc_report, brand_authorisation                                                                           |
      | product.base_qc_passed             | yes                                                                                                      |
      | shop.live_base_joined              | no                                                                                                       |
      | shop.deposit_paid                  | ¥2000                                                                                                    |
      | shop.deposit_required              | ¥2000                                                                                                    |
      | shop.qualifications_approved       | yes                                                                                                      |
      | listing.review_class               | drug                                                                                                     |
      | listing.review_status              | approved                                                                                                 |
      | listing.brand_status               | branded_goods                                                                                            |
      | listing.fields                     | brand, category, description, detail_images, detail_video, main_images, name, price, qualification_documents, shipping_template, sku, stock |
      | listing.document_formats           | pdf                                                                                                      |
      | listing.documents_clear_complete   | yes                                                                                                      |
      | listing.documents_match_product    | yes                                                                                                      |
      | listing.documents_within_validity  | yes                                                                                                      |
      | listing.media_violations           | none                                                                                                     |
      | listing.submitted_on               | 2023-12-01                                                                                               |
    When I evaluate the whole book on 2023-12-20
    Then there are no conflicts
    And the part of "product.audit"
    And the outcome is "allow"
    And the part of "shop.deposit"
    And 应缴保证金 is ¥2000

  Scenario: A novice shop owes half of the base: taking the shop standard as the base, the tiered deposit prevails
    Given the facts:
      | fact                         | value          |
      | shop.age_days                | 89             |
      | deposit.base                 | ¥500           |
      | deposit.request              | refund_deposit |
      | violation.false_advertising  | no             |
      | violation.counterfeit        | no             |
      | violation.late_orders        | 0              |
      | shop.other_violation_record  | no             |
      | shop.orders_settled          | no             |
      | shop.warranty_letter         | no             |
    When I evaluate the whole book on 2023-12-20
    Then the conflict "deposit_due" is settled in favour of "deposit.stage"
    And the part of "deposit.stage"
    And deposit.required is ¥250
    And the part of "shop.deposit"
    And shop.deposit is ¥500

  Scenario: From day 91 of business the tiered deposit owes the whole base: no conflict
    Given the facts:
      | fact                         | value          |
      | shop.age_days                | 90             |
      | deposit.base                 | ¥500           |
      | deposit.request              | refund_deposit |
      | violation.false_advertising  | no             |
      | violation.counterfeit        | no             |
      | violation.late_orders        | 0              |
      | shop.other_violation_record  | no             |
      | shop.orders_settled          | no             |
      | shop.warranty_letter         | no             |
    When I evaluate the whole book on 2023-12-20
    Then there are no conflicts
    And the part of "deposit.stage"
    And deposit.required is ¥500
