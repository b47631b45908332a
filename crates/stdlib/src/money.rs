//! Money: integer minor units and ISO 4217 currencies with Stripe's exponents.
//!
//! No floating point anywhere: amounts are `i64` minor units, literals are
//! `rust_decimal::Decimal` scaled by the currency's exponent, and a literal that
//! does not fit the currency's minor unit exactly is refused, never rounded.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// An upper-case three-letter currency code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Stripe's currencies and the decimals of their minor units, from
/// `stdlib/currencies.txt` (`CODE EXPONENT` a line; `Stdlib::load` refuses a bad line).
pub fn exponents() -> &'static HashMap<Currency, u32> {
    static TABLE: OnceLock<HashMap<Currency, u32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = crate::embedded::file("currencies.txt").unwrap_or("");
        text.lines()
            .filter_map(|line| {
                let mut w = line.split('#').next().unwrap_or("").split_whitespace();
                Some((Currency::parse(w.next()?)?, w.next()?.parse().ok()?))
            })
            .collect()
    })
}

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    /// Any three ASCII letters, in either case (Stripe sends `usd`, flow writes `USD`).
    pub fn parse(code: &str) -> Option<Currency> {
        let b = code.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        Some(Currency([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ]))
    }

    pub fn code(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// The lower-case code, as Stripe's API writes it.
    pub fn api_code(&self) -> String {
        self.code().to_ascii_lowercase()
    }

    /// Whether Stripe supports this currency (it is in `stdlib/currencies.txt`).
    pub fn is_known(&self) -> bool {
        exponents().contains_key(self)
    }

    /// Decimal places of the minor unit: 2 by default, 0 for zero-decimal currencies
    /// such as JPY, 3 for BHD, JOD, KWD, OMR and TND.
    pub fn exponent(&self) -> u32 {
        exponents().get(self).copied().unwrap_or(2)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The code, `"USD"`.
impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// An amount in a currency's smallest unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoneyError {
    /// More decimal places than the currency has.
    TooPrecise {
        exponent: u32,
    },
    Overflow,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// `14.99 USD` → 1499 minor units. Refuses amounts finer than the minor unit.
    pub fn from_major(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        let scale = Decimal::from(10i64.pow(exponent));
        let minor = amount.checked_mul(scale).ok_or(MoneyError::Overflow)?;
        if minor.fract() != Decimal::ZERO {
            return Err(MoneyError::TooPrecise { exponent });
        }
        let minor: i64 = minor.trunc().try_into().map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// The amount in major units, with exactly the currency's decimals.
    pub fn major(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    /// Ordering between two amounts of the same currency; `None` across currencies,
    /// which are never converted.
    pub fn partial_cmp_same(&self, other: &Money) -> Option<Ordering> {
        if self.currency == other.currency {
            Some(self.minor.cmp(&other.minor))
        } else {
            None
        }
    }
}

/// `{"minor": 1499, "currency": "USD"}`: the integer minor units, never a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Money", 2)?;
        m.serialize_field("minor", &self.minor)?;
        m.serialize_field("currency", &self.currency)?;
        m.end()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.major(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn money(s: &str, c: &str) -> Result<Money, MoneyError> {
        Money::from_major(Decimal::from_str(s).unwrap(), Currency::parse(c).unwrap())
    }

    #[test]
    fn exponents_follow_stripe() {
        assert_eq!(Currency::parse("usd").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::parse("ISK").unwrap().exponent(), 2);
    }

    #[test]
    fn literals_scale_by_exponent() {
        assert_eq!(money("1000", "USD").unwrap().minor, 100_000);
        assert_eq!(money("14.99", "USD").unwrap().minor, 1499);
        assert_eq!(money("1000", "JPY").unwrap().minor, 1000);
        assert_eq!(money("1.235", "KWD").unwrap().minor, 1235);
    }

    #[test]
    fn finer_than_the_minor_unit_is_refused() {
        assert_eq!(
            money("10.50", "JPY"),
            Err(MoneyError::TooPrecise { exponent: 0 })
        );
        assert_eq!(
            money("0.001", "USD"),
            Err(MoneyError::TooPrecise { exponent: 2 })
        );
        // Trailing zeros are fine.
        assert_eq!(money("10.00", "JPY").unwrap().minor, 10);
    }

    #[test]
    fn renders_with_the_currency_decimals() {
        assert_eq!(
            Money::new(150_000, Currency::parse("usd").unwrap()).to_string(),
            "1500.00 USD"
        );
        assert_eq!(
            Money::new(1001, Currency::parse("jpy").unwrap()).to_string(),
            "1001 JPY"
        );
        assert_eq!(
            Money::new(1235, Currency::parse("kwd").unwrap()).to_string(),
            "1.235 KWD"
        );
        assert_eq!(
            Money::new(-5, Currency::parse("eur").unwrap()).to_string(),
            "-0.05 EUR"
        );
    }

    #[test]
    fn serializes_as_code_and_minor_units() {
        let kwd = Currency::parse("kwd").unwrap();
        assert_eq!(serde_json::to_string(&kwd).unwrap(), r#""KWD""#);
        assert_eq!(
            serde_json::to_string(&Money::new(-1235, kwd)).unwrap(),
            r#"{"minor":-1235,"currency":"KWD"}"#
        );
    }

    #[test]
    fn different_currencies_do_not_compare() {
        let usd = Money::new(100, Currency::parse("usd").unwrap());
        let eur = Money::new(100, Currency::parse("eur").unwrap());
        assert_eq!(usd.partial_cmp_same(&eur), None);
        assert_eq!(usd.partial_cmp_same(&usd), Some(Ordering::Equal));
    }
}
