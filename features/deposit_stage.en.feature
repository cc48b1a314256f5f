Feature: Tiered deposit by business stage (English)
  The late-shipment deduction is taken per late-shipped order (R000.5): with no late-shipped order it is ¥0 and
  the amount per order is not needed; with one, the amount per order is (see assumption no_late_orders_no_fine).

  Background:
    Given the facts:
      | fact                         | value                 |
      | Days since the shop opened   | 120                   |
      | Base amount                  | ¥5000                 |
      | Deposit request              | Refund of the deposit |
      | Has another violation record | no                    |
      | All orders settled           | yes                   |
      | Warranty letter provided     | yes                   |
      | False advertising            | no                    |
      | Selling counterfeits         | no                    |

  @R000.5
  Scenario: No late-shipped order: no deduction, and the amount per order is not needed
    Given Late-shipped orders is 0
    When I evaluate "deposit.stage" on 2023-06-01
    Then the outcome is "allow"
    And there are no warnings
    And Deduction for late shipment is ¥0
    And Total deduction is ¥0

  @R000.5
  Scenario: One late-shipped order: the deduction needs the amount per order
    Given Late-shipped orders is 1
    When I evaluate "deposit.stage" on 2023-06-01
    Then the evaluation fails with "deposit.late_fine_per_order"

  @R000.5
  Scenario: One late-shipped order with the amount per order given
    Given Late-shipped orders is 1
    And Deduction per late-shipped order is ¥20
    When I evaluate "deposit.stage" on 2023-06-01
    Then the outcome is "allow"
    And the warnings include "deduct_late_shipment"
    And the message is "Deposit deduction: late shipment (deducted per order), 1 orders, ¥20"
    And Deduction for late shipment is ¥20
    And Total deduction is ¥20
