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
