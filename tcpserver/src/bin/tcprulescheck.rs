#![cfg_attr(not(test), no_main)]
indicore::program!(
    tcpserver::tcprulescheck::PROG,
    tcpserver::tcprulescheck::run
);
