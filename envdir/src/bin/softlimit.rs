fn main() {
    chainload::main(chainload::softlimit::PROG, chainload::softlimit::run)
}
