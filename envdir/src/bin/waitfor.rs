fn main() {
    chainload::main(chainload::waitfor::PROG, chainload::waitfor::run)
}
