fn main() {
    supervise::svok::PROG.main(supervise::svok::run)
}
