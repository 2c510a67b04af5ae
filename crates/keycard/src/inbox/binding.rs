//! What an inbox token is bound to, as the payload of its one-time record: the user's email when it was
//! issued, the address it was sent to, and the user's credential fingerprint. A length-prefixed binary
//! layout (no serializer needed), versioned.

use crate::user::Fingerprint;

const VERSION: u8 = 1;

/// What a token was issued against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    /// The user's email when the token was issued (normalized by the app).
    pub(crate) email: String,
    /// The address the message went to: the email, or the new address of an email change.
    pub(crate) sent_to: String,
    /// The user's credential fingerprint then.
    pub(crate) fingerprint: Option<Fingerprint>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn take_str(input: &mut &[u8]) -> Option<String> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return None;
    }
    let (s, rest) = rest.split_at(len);
    *input = rest;
    String::from_utf8(s.to_vec()).ok()
}

impl Binding {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        match &self.fingerprint {
            Some(f) => {
                out.push(1);
                out.extend_from_slice(&f.0);
            }
            None => out.push(0),
        }
        put_str(&mut out, &self.email);
        put_str(&mut out, &self.sent_to);
        out
    }

    /// The binding, or `None` for bytes this version did not write.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Binding> {
        let (&version, mut rest) = bytes.split_first()?;
        if version != VERSION {
            return None;
        }
        let (&has, after) = rest.split_first()?;
        rest = after;
        let fingerprint = match has {
            0 => None,
            1 => {
                let (f, after) = rest.split_first_chunk::<16>()?;
                rest = after;
                Some(Fingerprint(*f))
            }
            _ => return None,
        };
        let email = take_str(&mut rest)?;
        let sent_to = take_str(&mut rest)?;
        rest.is_empty().then_some(Binding {
            email,
            sent_to,
            fingerprint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_round_trips_and_other_bytes_are_refused() {
        for fingerprint in [None, Some(Fingerprint([7; 16]))] {
            let b = Binding {
                email: "ann@example.com".into(),
                sent_to: "ann.new@example.com".into(),
                fingerprint,
            };
            assert_eq!(Binding::decode(&b.encode()), Some(b.clone()));
            let mut longer = b.encode();
            longer.push(0);
            assert_eq!(Binding::decode(&longer), None);
            let bytes = b.encode();
            assert_eq!(Binding::decode(&bytes[..bytes.len() - 1]), None);
        }
        assert_eq!(Binding::decode(&[]), None);
        assert_eq!(Binding::decode(&[2, 0]), None);
    }
}
