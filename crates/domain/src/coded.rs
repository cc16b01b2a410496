//! Enums stored by a code: one declaration gives each value its code (what
//! the database and the API hold), its label (what the screen shows, in the
//! seeds' words), the list of all values and a strict parse. An unknown code
//! is an error, never a default: a damaged row must not become reviewable.

/// A stored code that names no value of the enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} code {code:?}")]
pub struct UnknownCode {
    pub kind: &'static str,
    pub code: String,
}

/// What every coded enum offers, for code that is generic over them.
pub trait Coded: Copy + Eq + std::fmt::Debug + serde::Serialize + Send + Sync + 'static {
    const ALL: &'static [Self];
    fn code(self) -> &'static str;
    fn label(self) -> &'static str;
    fn parse(code: &str) -> Result<Self, UnknownCode>;
}

/// Declares a coded enum:
/// ```ignore
/// coded! {
///     /// 审核状态
///     pub enum State { Submitted = ("submitted", "地方注协待审核"), Passed = ("passed", "年检通过") }
/// }
/// ```
#[macro_export]
macro_rules! coded {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The value of a stored code; an unknown code is an error.
            pub fn parse(code: &str) -> Result<$name, $crate::coded::UnknownCode> {
                match code {
                    $($code => Ok($name::$variant),)+
                    other => Err($crate::coded::UnknownCode { kind: stringify!($name), code: other.to_owned() }),
                }
            }
        }

        impl $crate::coded::Coded for $name {
            const ALL: &'static [$name] = $name::ALL;
            fn code(self) -> &'static str { $name::code(self) }
            fn label(self) -> &'static str { $name::label(self) }
            fn parse(code: &str) -> Result<$name, $crate::coded::UnknownCode> { $name::parse(code) }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let code = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::parse(&code).map_err(::serde::de::Error::custom)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    coded! {
        /// A test enum.
        pub enum Colour {
            Red = ("red", "红"),
            Blue = ("blue", "蓝"),
        }
    }

    #[test]
    fn codes_labels_and_a_strict_parse() {
        assert_eq!(Colour::ALL, &[Colour::Red, Colour::Blue]);
        assert_eq!((Colour::Blue.code(), Colour::Blue.label()), ("blue", "蓝"));
        assert_eq!(Colour::parse("red"), Ok(Colour::Red));
        let e = Colour::parse("green").unwrap_err();
        assert_eq!(e.to_string(), "unknown Colour code \"green\"");
        assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"red\"");
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
    }
}
