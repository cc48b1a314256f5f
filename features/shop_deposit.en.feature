Feature: Douyin shop deposit (English)
  The deposit by shop subject and primary category (R002.6), read in English: fact labels, enum
  labels and outcomes in English. Several primary categories pay the highest deposit.

  @R002.6
  Scenario Outline: The deposit standard for ordinary orders by subject and primary category
    Given Account type is <subject>
    And Primary categories chosen is <categories>
    When I evaluate "Douyin shop deposit" on 2023-06-01
    Then the outcome is "allow"
    And Deposit due is <deposit>

    Examples:
      | subject             | categories              | deposit |
      | Individual business | Apparel & underwear     | ¥2000   |
      | Individual business | Jewellery & collectibles | ¥20000 |
      | Enterprise account  | Mother & baby           | ¥10000  |
      | Personal account    | Kitchenware             | ¥500    |

  @R002.6
  Scenario: Several primary categories pay the highest deposit of the chosen categories
    Given the facts:
      | fact                      | value                                  |
      | Account type              | Enterprise account                     |
      | Primary categories chosen | Apparel & underwear, Mother & baby     |
    When I evaluate "shop.deposit" on 2023-06-01
    Then the outcome is "allow"
    And Deposit due is ¥10000
    And there are no warnings

  @R002.6
  Scenario: Every other primary category is not open to personal subjects
    Given Account type is Personal account
    And Primary categories chosen is Shoes & boots, Jewellery & collectibles
    When I evaluate "shop.deposit" on 2023-06-01
    Then the outcome is "deny"
    And the reasons include "category_not_open_to_personal"
    And the message is "A personal subject may open a shop only in Apparel & underwear, Sports & outdoor, Shoes & boots or Kitchenware; every other primary category is not open to personal subjects (chosen: Jewellery & collectibles, Shoes & boots)"
    And Deposit due is not open

  @R002.6
  Scenario: A deposit the article does not state is never invented
    Given Account type is Enterprise account
    And Primary categories chosen is Sports & outdoor
    When I evaluate "shop.deposit" on 2023-06-01
    Then the evaluation fails with "the sources state no value for enterprise, sports_outdoor in table `shop_deposit_standard`"
