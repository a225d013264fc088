fn main() {
    chainload::softlimit::PROG.main(chainload::softlimit::run)
}
