fn main() {
    chainload::main(chainload::pgrphack::PROG, chainload::pgrphack::run)
}
