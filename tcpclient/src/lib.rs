//! tcpclient and the small UCSPI tools
