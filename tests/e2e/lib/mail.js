// Reads what the real SMTP server received: aiosmtpd's Mailbox handler
// writes each message as a file of a Maildir.

"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { simpleParser } = require("mailparser");
const { waitFor } = require("./server");

/** The first mail to `address` whose subject contains `subject`. */
async function waitForMail(maildir, address, subject) {
  let found = null;
  await waitFor(async () => {
    for (const folder of ["new", "cur"]) {
      const dir = path.join(maildir, folder);
      if (!fs.existsSync(dir)) {
        continue;
      }
      for (const file of fs.readdirSync(dir)) {
        const mail = await simpleParser(fs.readFileSync(path.join(dir, file)));
        const to = (mail.to && mail.to.text) || "";
        if (to.includes(address) && (mail.subject || "").toLowerCase().includes(subject.toLowerCase())) {
          found = mail;
          return true;
        }
      }
    }
    return false;
  }, `a mail to ${address} about « ${subject} »`);
  return found;
}

/** The value after `label` on a line of the mail's text part. */
function lineValue(mail, label) {
  const line = mail.text.split("\n").find((candidate) => candidate.trim().startsWith(label));
  if (!line) {
    throw new Error(`no line « ${label} » in:\n${mail.text}`);
  }
  return line.trim().slice(label.length).trim();
}

/** The first link of the text part whose path starts with `prefix`. */
function linkPath(mail, prefix) {
  for (const match of mail.text.matchAll(/https?:\/\/\S+/g)) {
    const url = new URL(match[0]);
    if (url.pathname.startsWith(prefix)) {
      return url.pathname;
    }
  }
  throw new Error(`no link to ${prefix} in:\n${mail.text}`);
}

module.exports = { waitForMail, lineValue, linkPath };
