Feature: Douyin shop joining the Selected Alliance (English)
  The same policy, read in English: fact labels, enum labels and outcomes in English (R002.4).

  Background:
    Given the facts:
      | fact                                                                  | value                          |
      | Selected Alliance membership                                          | Not in the alliance (applying) |
      | The merchant has joined and opened a Douyin shop                      | yes                            |
      | Shop status normal (the shop can be visited)                          | yes                            |
      | Shop account status normal (the account can log in and be used)       | yes                            |
      | Transaction amount in the last 30 days                                | ¥1000                          |
      | Shop score (DSR)                                                      | 4.8                            |
      | Good-review rate (last 60 days)                                       | 95%                            |
      | Effective reviews                                                     | 50                             |
      | Ever penalised under the rules on publishing evasive information      | no                             |
      | Another shop of the controller was penalised for a specified severe violation | no                     |
      | Another shop of the controller seriously endangered transaction safety | no                            |

  @R002.4
  Scenario Outline: Shop score at least 4.5 and good-review rate at least 80%
    Given Shop score (DSR) is <score>
    And Good-review rate (last 60 days) is <rate>
    When I evaluate "Douyin shop joining the Selected Alliance" on 2023-06-01
    Then the outcome is "<outcome>"

    Examples:
      | score | rate  | outcome |
      | 4.49  | 80%   | deny    |
      | 4.5   | 80%   | allow   |
      | 4.5   | 79.9% | deny    |

  @R002.4
  Scenario: The reason quotes the threshold in English
    Given Good-review rate (last 60 days) is 79.9%
    When I evaluate "alliance.eligibility" on 2023-06-01
    Then the outcome is "deny"
    And the reasons include "good_review_rate_low"
    And the message is "Good-review rate 79.9%; it must be at least 80%"

  @R002.4
  Scenario Outline: More than 20 effective reviews: only the formal version may be applied for
    Given Effective reviews is <reviews>
    When I evaluate "alliance.eligibility" on 2023-06-01
    Then the outcome is "allow"
    And Alliance version that may be applied for is <version>

    Examples:
      | reviews | version         |
      | 20      | Trial version   |
      | 21      | Formal version  |

  @R002.4
  Scenario: Transactions in the last 30 days must be above zero
    Given Transaction amount in the last 30 days is ¥0
    When I evaluate "alliance.eligibility" on 2023-06-01
    Then the outcome is "deny"
    And the message is "Transaction amount in the last 30 days is ¥0; it must be above zero"

  @R002.4
  Scenario: The daily check sends a warning notice to a shop in the alliance
    Given Selected Alliance membership is In the alliance (formal version)
    And Shop score (DSR) is 4.49
    When I evaluate "alliance.eligibility" on 2023-06-01
    Then the outcome is "allow"
    And the warnings include "alliance_daily_warning"
    And the message is "Warning notice: DSR 4.49, good-review rate 95% (DSR below 4.5 or good-review rate below 80%)"
