fn main() {
    supervise::svc::PROG.main(supervise::svc::run)
}
