//! rblsmtpd: refuse SMTP from addresses listed in DNS blocklists (being written).
