/// One command-line program over the shared parser, help and error reporting of `CommandLineTool.run`: the
/// product `credledger`, or the lab's `credledger-bench` (Tools/CredLedgerLab), which adds commands without the
/// product knowing them (the lab depends on the product, never the reverse).
package struct CommandLineProgram {
    /// The executable's name, as usage lines and hints spell it.
    package var name: String
    /// The text `--help` prints before the command list.
    package var help: String
    /// Every command, in help order, each with `name` as its program.
    package var commands: [CommandSpec]
    /// First words that name a command of another program, with the hint an unknown-command error gives for them.
    package var elsewhere: [String: String]

    package init(name: String, help: String, commands: [CommandSpec], elsewhere: [String: String] = [:]) {
        self.name = name
        self.help = help
        self.commands = commands.map { spec in
            var spec = spec
            spec.program = name
            return spec
        }
        self.elsewhere = elsewhere
    }
}
