#![cfg_attr(not(test), no_main)]
indicore::program!(tcpclient::mconnect_io::PROG, tcpclient::mconnect_io::run);
