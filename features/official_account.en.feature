Feature: Official and authorised accounts carry only own-store products (English)
  Cross-border merchants and closed shops are exceptions about the shop an account is bound to (R004.1, R004.5;
  see assumption exemptions_are_about_the_bound_shop): an ordinary creator account is bound to no shop and need
  not state the shop facts, while an official or authorised account must.

  @R004.1 @R004.5
  Scenario: An ordinary creator account states no shop facts
    Given Account role is Ordinary creator account
    And Selling scene is Live room
    And Own-store product is no
    When I evaluate "official_account.own_store_only" on 2024-01-15
    Then the outcome is "allow"
    And The own-store restriction applies to this account is no

  @R004.1 @R004.5
  Scenario Outline: An account bound to a shop must state whether the shop is cross-border and closed
    Given Account role is <role>
    And Shop type is Flagship store
    And Account id is dy0007
    And Selling scene is Live room
    And Own-store product is no
    When I evaluate "official_account.own_store_only" on 2024-01-15
    Then the evaluation fails with "shop.cross_border"
    And the evaluation fails with "shop.closed"

    Examples:
      | role                                 |
      | Official account (bound to the shop) |
      | Authorised account                   |

  @R004.1 @R004.5
  Scenario Outline: With the shop facts stated, the exceptions apply as before
    Given Account role is Official account (bound to the shop)
    And Shop type is Flagship store
    And Account id is dy0007
    And Selling scene is Live room
    And Own-store product is no
    And Cross-border merchant is <cross-border>
    And Shop closed is <closed>
    When I evaluate "official_account.own_store_only" on 2024-01-15
    Then the outcome is "<outcome>"
    And the reasons include "<reason>"

    Examples:
      | cross-border | closed | outcome | reason                |
      | no           | no     | deny    | live_room_own_store   |
      | yes          | no     | allow   | cross_border_exempt   |
      | no           | yes    | allow   | shop_closed_unbound   |
