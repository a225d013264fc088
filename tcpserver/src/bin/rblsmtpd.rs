#![cfg_attr(not(test), no_main)]
indicore::program!(tcpserver::rblsmtpd::PROG, tcpserver::rblsmtpd::run);
