fn main() {
    chainload::main(chainload::setuidgid::PROG, chainload::setuidgid::run)
}
