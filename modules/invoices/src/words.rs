//! Amounts as a French attestation writes them: in figures ("1 234,50 €",
//! as the host shows a `Value::Amount`) and in words, in the traditional
//! spelling ("quatre-vingts euros", "deux cent un euros", "vingt et un",
//! "un million d'euros", "soixante-quatorze euros et cinquante centimes").
//!
//! Written here rather than taken from `num2words` (1.2.0): its cardinals
//! are right, but its amounts say "zéro euros" and "un million euros", and
//! it takes them as floats.

/// "12,50 €", "1 234 567,89 €" (narrow no-break spaces between thousands,
/// a no-break space before the sign), as the host formats an amount.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{},{:02}\u{a0}€", grouped(cents / 100), cents % 100)
}

fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    grouped
}

/// An amount in euro cents in words: whole euros, then "et N centimes"
/// when the cents are not zero ("zéro euro", "un euro", "deux euros et un
/// centime", "un million d'euros").
pub fn amount_in_words(cents: i64) -> String {
    let sign = if cents < 0 { "moins " } else { "" };
    let cents = cents.unsigned_abs();
    let (euros, rest) = (cents / 100, cents % 100);
    let unit = if euros <= 1 {
        " euro"
    } else if euros.is_multiple_of(1_000_000) {
        // "un million d'euros", "deux milliards d'euros": a noun before.
        " d'euros"
    } else {
        " euros"
    };
    let mut words = format!("{sign}{}{unit}", number_in_words(euros));
    if rest > 0 {
        let unit = if rest == 1 { "centime" } else { "centimes" };
        words.push_str(&format!(" et {} {unit}", number_in_words(rest)));
    }
    words
}

/// A whole number in words, traditional spelling (hyphens below a
/// hundred only, "et" in 21, 31… 71).
pub fn number_in_words(number: u64) -> String {
    if number == 0 {
        return "zéro".to_owned();
    }
    let mut parts = Vec::new();
    let mut rest = number;
    // Milliards and millions are nouns: "deux millions", "quatre-vingts
    // millions", "mille milliards".
    for (scale, singular, plural) in [
        (1_000_000_000, "milliard", "milliards"),
        (1_000_000, "million", "millions"),
    ] {
        let count = rest / scale;
        rest %= scale;
        if count > 0 {
            let noun = if count == 1 { singular } else { plural };
            parts.push(format!("{} {noun}", number_in_words(count)));
        }
    }
    // "mille" is invariable, takes no "un", and stops the plural of
    // "vingts" and "cents" before it: "deux cent mille", "quatre-vingt
    // mille".
    let thousands = rest / 1000;
    rest %= 1000;
    match thousands {
        0 => {}
        1 => parts.push("mille".to_owned()),
        _ => parts.push(format!("{} mille", below_thousand(thousands, false))),
    }
    if rest > 0 {
        parts.push(below_thousand(rest, true));
    }
    parts.join(" ")
}

const UNITS: [&str; 20] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
    "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf",
];

const TENS: [&str; 7] = [
    "",
    "",
    "vingt",
    "trente",
    "quarante",
    "cinquante",
    "soixante",
];

/// 1 to 999; `last` when nothing but a noun (or nothing) follows, so that
/// "quatre-vingts" and "deux cents" take their plural.
fn below_thousand(number: u64, last: bool) -> String {
    let (hundreds, rest) = (number / 100, number % 100);
    let mut words = match hundreds {
        0 => String::new(),
        1 => "cent".to_owned(),
        _ if rest == 0 && last => format!("{} cents", UNITS[hundreds as usize]),
        _ => format!("{} cent", UNITS[hundreds as usize]),
    };
    if rest > 0 {
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(&below_hundred(rest, last));
    }
    words
}

/// 1 to 99.
fn below_hundred(number: u64, last: bool) -> String {
    let (tens, units) = ((number / 10) as usize, (number % 10) as usize);
    match tens {
        0 | 1 => UNITS[number as usize].to_owned(),
        2..=6 => match units {
            0 => TENS[tens].to_owned(),
            1 => format!("{} et un", TENS[tens]),
            _ => format!("{}-{}", TENS[tens], UNITS[units]),
        },
        // 70–79: soixante-dix, soixante et onze, soixante-douze…
        7 if units == 1 => "soixante et onze".to_owned(),
        7 => format!("soixante-{}", UNITS[10 + units]),
        // 80–99: quatre-vingts, quatre-vingt-un, quatre-vingt-onze…
        _ if number == 80 && last => "quatre-vingts".to_owned(),
        8 if units == 0 => "quatre-vingt".to_owned(),
        8 => format!("quatre-vingt-{}", UNITS[units]),
        _ => format!("quatre-vingt-{}", UNITS[10 + units]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_traditional_spelling() {
        for (number, words) in [
            (0, "zéro"),
            (1, "un"),
            (16, "seize"),
            (17, "dix-sept"),
            (20, "vingt"),
            (21, "vingt et un"),
            (22, "vingt-deux"),
            (61, "soixante et un"),
            (70, "soixante-dix"),
            (71, "soixante et onze"),
            (72, "soixante-douze"),
            (79, "soixante-dix-neuf"),
            (80, "quatre-vingts"),
            (81, "quatre-vingt-un"),
            (90, "quatre-vingt-dix"),
            (91, "quatre-vingt-onze"),
            (99, "quatre-vingt-dix-neuf"),
            (100, "cent"),
            (101, "cent un"),
            (180, "cent quatre-vingts"),
            (200, "deux cents"),
            (201, "deux cent un"),
            (1000, "mille"),
            (1001, "mille un"),
            (1080, "mille quatre-vingts"),
            (2000, "deux mille"),
            (21_000, "vingt et un mille"),
            (80_000, "quatre-vingt mille"),
            (81_000, "quatre-vingt-un mille"),
            (200_000, "deux cent mille"),
            (200_200, "deux cent mille deux cents"),
            (1_000_000, "un million"),
            (2_000_000, "deux millions"),
            (80_000_000, "quatre-vingts millions"),
            (200_000_000, "deux cents millions"),
            (1_001_000, "un million mille"),
            (1_000_000_000, "un milliard"),
            (1_000_000_000_000, "mille milliards"),
        ] {
            assert_eq!(number_in_words(number), words, "{number}");
        }
    }

    #[test]
    fn amounts_in_words() {
        for (cents, words) in [
            (0, "zéro euro"),
            (100, "un euro"),
            (50, "zéro euro et cinquante centimes"),
            (101, "un euro et un centime"),
            (2100, "vingt et un euros"),
            (7100, "soixante et onze euros"),
            (7450, "soixante-quatorze euros et cinquante centimes"),
            (8000, "quatre-vingts euros"),
            (8100, "quatre-vingt-un euros"),
            (20_000, "deux cents euros"),
            (20_100, "deux cent un euros"),
            (
                25_490,
                "deux cent cinquante-quatre euros et quatre-vingt-dix centimes",
            ),
            (100_000, "mille euros"),
            (200_000, "deux mille euros"),
            (100_000_000, "un million d'euros"),
            (100_000_100, "un million un euros"),
            (-250, "moins deux euros et cinquante centimes"),
        ] {
            assert_eq!(amount_in_words(cents), words, "{cents}");
        }
    }

    #[test]
    fn amounts_in_figures_as_the_host_shows_them() {
        assert_eq!(amount(0), "0,00\u{a0}€");
        assert_eq!(amount(12_345), "123,45\u{a0}€");
        assert_eq!(amount(123_456_789), "1\u{202f}234\u{202f}567,89\u{a0}€");
        assert_eq!(amount(-505), "-5,05\u{a0}€");
    }
}
