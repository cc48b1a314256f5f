Feature: Douyin shop deposit refund and reopening (English)
  The refund destination belongs to a deposit refund only (R002.1, R002.2; see assumption
  destination_for_refund_only): a request to reopen the shop refunds no deposit and does not need the onboarded
  subject, while a refund that meets the approval conditions names the account it goes to and so needs it.

  Background:
    Given the facts:
      | fact                                     | value      |
      | Closure application approved             | yes        |
      | Shop closed                              | yes        |
      | Closing date                             | 2023-06-05 |
      | Has a penalty record                     | no         |
      | Has arrears                              | no         |
      | Periodic payments settled                | yes        |
      | Materials ready and information correct  | yes        |
      | Logs in with the original account        | yes        |

  @R002.2
  Scenario: Reopening the shop does not need the onboarded subject
    Given Request is Reopening the Douyin shop
    When I evaluate "deposit.refund" on 2023-12-05
    Then the outcome is "allow"
    And Earliest reopening date is 2023-12-05

  @R002.1
  Scenario: A refund that meets the approval conditions needs the onboarded subject for its destination
    Given Request is Refund of the deposit
    When I evaluate "deposit.refund" on 2023-06-05
    Then the evaluation fails with "account.kind"

  @R002.1
  Scenario Outline: With the onboarded subject given, the refund names its destination
    Given Request is Refund of the deposit
    And Account type is <subject>
    When I evaluate "deposit.refund" on 2023-06-05
    Then the outcome is "allow"
    And the reasons include "refund_due"
    And Refund destination is <destination>

    Examples:
      | subject            | destination                                       |
      | Enterprise account | Corporate bank account in the business-licence name |
      | Personal account   | The bank card account filled in (the original account) |
