Feature: Douyin shopping cart opening (English)
  The same rule book, read in English: fact labels, enum labels and outcomes in English.

  @R000.1
  Scenario Outline: 2023 rule: personal accounts need 1,000 followers
    Given Account type is Personal account
    And Followers is <followers>
    And Real-name verified is yes
    And Sells a special category (e.g. beauty, food) is no
    When I evaluate "Douyin shopping cart opening" on 2023-12-20
    Then the outcome is "<outcome>"

    Examples:
      | followers | outcome |
      | 999       | deny    |
      | 1000      | allow   |

  @R000.1
  Scenario: The reason is given in both languages
    Given Account type is personal
    And Followers is 999
    And Real-name verified is yes
    And Sells a special category (e.g. beauty, food) is no
    When I evaluate "cart.opening" on 2023-12-20
    Then the outcome is "deny"
    And the reasons include "fans_below_threshold"
    And the message is "999 followers, below the threshold of 1,000 followers"
    And Follower threshold is 1000

  @R001.1
  Scenario: The 2020 rule asks for ten public original videos
    Given the facts:
      | fact                   | value |
      | Followers              | 1000  |
      | Public original videos | 9     |
      | Phone number bound     | yes   |
      | Real-name verified     | yes   |
    When I evaluate "cart.opening" on 2022-12-31
    Then the outcome is "deny"
    And the reasons include "too_few_videos"
    And the reasons do not include "fans_2020"
    And the message is "Only 9 videos are public and original; at least 10 are needed"
