//! svctool and qmailctl: lay out and manage the IndiMail service tree
