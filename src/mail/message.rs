//! The email as it goes on the wire: headers (non-ASCII names and subjects encoded as
//! RFC 2047 words by the builder), a plain-text UTF-8 body with its line breaks, and the
//! envelope taken from From and To.

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::{Mailbox, SinglePart};

use super::{MailError, OutgoingEmail};

/// A display name or subject on one line: a header holds no line break or other control
/// character (they would end the header, or start another).
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

fn name(text: &str) -> Option<String> {
    Some(one_line(text)).filter(|n| !n.is_empty())
}

/// The agent as a mailbox: the name from the sign-in and the agent's own address.
fn agent(email: &OutgoingEmail) -> Result<Mailbox, MailError> {
    let address = email.agent_email.trim().parse().map_err(|_| MailError::InvalidAgentAddress)?;
    Ok(Mailbox::new(name(&email.agent_name), address))
}

/// The recipient: an address, or a name and an address (`Name <a@b.example>`).
fn recipient(email: &OutgoingEmail) -> Result<Mailbox, MailError> {
    let to = email.to.trim();
    if to.is_empty() || to.contains(',') {
        return Err(MailError::InvalidRecipient);
    }
    to.parse::<Mailbox>().map_err(|_| MailError::InvalidRecipient)
}

/// Builds the message. With a configured `sender` the email is from the sender (its
/// own display name, else the agent's) and the agent is the Reply-To; without one it is
/// from the agent. The envelope follows From and To.
pub(super) fn build(email: &OutgoingEmail, sender: Option<&Mailbox>) -> Result<(Envelope, Vec<u8>), MailError> {
    let agent = agent(email)?;
    let builder = Message::builder().to(recipient(email)?).subject(one_line(&email.subject)).message_id(None);
    let builder = match sender {
        Some(sender) => {
            let shown = sender.name.clone().or_else(|| agent.name.clone());
            builder.from(Mailbox::new(shown, sender.email.clone())).reply_to(agent)
        }
        None => builder.from(agent),
    };
    let message = builder.singlepart(SinglePart::plain(email.body.clone())).map_err(|e| {
        tracing::warn!(error = %e, "the email could not be put together");
        MailError::InvalidRecipient
    })?;
    Ok((message.envelope().clone(), message.formatted()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            to: "marta@lodz.example".into(),
            subject: "Zaproszenie — Łódź".into(),
            body: "Dzień dobry,\n\nproszę zaakceptować umowę.\n".into(),
            agent_name: "Zoë Ångström".into(),
            agent_email: "zoe@contoso.example".into(),
        }
    }

    fn headers(raw: &[u8]) -> String {
        let text = String::from_utf8(raw.to_vec()).unwrap();
        text.split("\r\n\r\n").next().unwrap().to_string()
    }

    #[test]
    fn without_a_sender_the_agent_sends_and_headers_are_ascii() {
        let (envelope, raw) = build(&email(), None).unwrap();
        assert_eq!(envelope.from().unwrap().to_string(), "zoe@contoso.example");
        assert_eq!(envelope.to().iter().map(|a| a.to_string()).collect::<Vec<_>>(), ["marta@lodz.example"]);
        let head = headers(&raw);
        assert!(head.is_ascii(), "non-ASCII is encoded in headers: {head}");
        assert!(head.contains("=?utf-8?"), "{head}");
        assert!(!head.contains("Reply-To"), "{head}");
        assert!(head.contains("Content-Type: text/plain; charset=utf-8"), "{head}");
        assert!(head.contains("Message-ID: <"), "{head}");
    }

    #[test]
    fn with_a_sender_the_agent_is_the_reply_to() {
        let sender: Mailbox = "mca@contoso.example".parse().unwrap();
        let (envelope, raw) = build(&email(), Some(&sender)).unwrap();
        assert_eq!(envelope.from().unwrap().to_string(), "mca@contoso.example");
        let head = headers(&raw);
        assert!(head.contains("Reply-To: =?utf-8?"), "{head}");
        assert!(head.contains("<zoe@contoso.example>"), "{head}");
        assert!(head.contains("<mca@contoso.example>"), "{head}");
    }

    #[test]
    fn line_breaks_in_a_subject_or_name_do_not_make_headers() {
        let mut e = email();
        e.subject = "Hello\r\nBcc: someone@evil.example".into();
        e.agent_name = "Zoë\nX-Injected: yes".into();
        let head = headers(&build(&e, None).unwrap().1);
        assert!(!head.contains("\r\nBcc:") && !head.contains("\r\nX-Injected"), "{head}");
        assert!(head.contains("Subject: Hello Bcc: someone@evil.example"), "{head}");
    }

    #[test]
    fn bad_addresses_are_named() {
        for to in ["", "not an address", "a@b.example, c@d.example"] {
            let e = OutgoingEmail { to: to.into(), ..email() };
            assert_eq!(build(&e, None).unwrap_err(), MailError::InvalidRecipient, "{to:?}");
        }
        let e = OutgoingEmail { agent_email: "zoe".into(), ..email() };
        assert_eq!(build(&e, None).unwrap_err(), MailError::InvalidAgentAddress);
        let named = OutgoingEmail { to: "Marta Łęcka <marta@lodz.example>".into(), ..email() };
        assert!(build(&named, None).is_ok());
    }
}
