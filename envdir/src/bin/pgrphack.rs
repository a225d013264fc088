fn main() {
    chainload::pgrphack::PROG.main(chainload::pgrphack::run)
}
