fn main() {
    supervise::svstat::PROG.main(supervise::svstat::run)
}
