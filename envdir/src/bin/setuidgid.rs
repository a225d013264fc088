fn main() {
    chainload::setuidgid::PROG.main(chainload::setuidgid::run)
}
