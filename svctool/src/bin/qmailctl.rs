#![cfg_attr(not(test), no_main)]
indicore::program!(svctool::qmailctl::PROG, svctool::qmailctl::run);
