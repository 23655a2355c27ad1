// A real SMTP server on 127.0.0.1 for the portal's sending tests (Nodemailer's
// smtp-server; mailparser decodes what arrives). One argument, JSON:
//   { "tls": "starttls" | "implicit", "key": PEM file, "cert": PEM file,
//     "user": "...", "password": "..."  (both or neither: AUTH PLAIN/LOGIN required),
//     "refuse_recipients": ["..."], "refuse_senders": ["..."] }
// Prints "listening PORT" once, then "message JSON" for each message it accepts:
// the envelope, whether the session was encrypted, who signed in, the decoded
// from/reply-to/to/subject/text, and the raw message.
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const options = JSON.parse(process.argv[2] ?? '{}');
const refusedRecipients = new Set((options.refuse_recipients ?? []).map((a) => a.toLowerCase()));
const refusedSenders = new Set((options.refuse_senders ?? []).map((a) => a.toLowerCase()));
const withAuth = Boolean(options.user);

function refusal(text, code) {
  const error = new Error(text);
  error.responseCode = code;
  return error;
}

function addresses(field) {
  return field ? field.value.map((a) => ({ name: a.name, address: a.address })) : [];
}

const server = new SMTPServer({
  secure: options.tls === 'implicit',
  key: readFileSync(options.key),
  cert: readFileSync(options.cert),
  name: 'smtp.test',
  banner: 'test server',
  logger: false,
  authMethods: ['PLAIN', 'LOGIN'],
  authOptional: !withAuth,
  disabledCommands: withAuth ? [] : ['AUTH'],
  onAuth(auth, session, callback) {
    if (auth.username === options.user && auth.password === options.password) {
      callback(null, { user: auth.username });
    } else {
      callback(refusal('5.7.8 Authentication credentials invalid (server text)', 535));
    }
  },
  onMailFrom(address, session, callback) {
    if (refusedSenders.has(address.address.toLowerCase())) {
      callback(refusal('5.7.1 Sender not allowed (server text)', 550));
    } else {
      callback();
    }
  },
  onRcptTo(address, session, callback) {
    if (refusedRecipients.has(address.address.toLowerCase())) {
      callback(refusal('5.1.1 No such user here (server text)', 550));
    } else {
      callback();
    }
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', async () => {
      try {
        const raw = Buffer.concat(chunks);
        const parsed = await simpleParser(raw);
        const message = {
          envelope: {
            mail_from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            rcpt_to: session.envelope.rcptTo.map((r) => r.address),
          },
          secure: Boolean(session.secure),
          user: session.user || null,
          from: addresses(parsed.from),
          reply_to: addresses(parsed.replyTo),
          to: addresses(parsed.to),
          subject: parsed.subject ?? null,
          text: parsed.text ?? null,
          raw: raw.toString('utf8'),
        };
        process.stdout.write(`message ${JSON.stringify(message)}\n`);
        callback();
      } catch (error) {
        callback(error);
      }
    });
  },
});

server.on('error', (error) => process.stderr.write(`smtp server: ${error.message}\n`));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.server.address().port}\n`);
});
// The test ends the process; never outlive a test run by much.
setTimeout(() => process.exit(0), 120_000).unref();
