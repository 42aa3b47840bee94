import ArgumentParser
import GAN

/// Writes the study as code for another framework.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the study's models and training loop for another framework.",
        discussion: """
            Example: normlab export pytorch --out gpu
            then:    python gpu/normlab_gan.py --resume run/checkpoint.safetensors --data ~/data/celeba --iterations 20000 --out gpu/run
            or:      torchrun --nproc_per_node 4 gpu/normlab_gan.py … (DistributedDataParallel on 4 GPUs)
            The script continues a Normlab run and writes checkpoints that `normlab train --resume`, `load_generator`
            and `normlab experiment --report` read back.
            """)
    @Argument(help: "The framework: pytorch.") var framework: String
    @Option(help: "Directory to write normlab_gan.py into.") var out: String

    func run() throws {
        guard framework == "pytorch" else { throw ValidationError("the only framework is pytorch, got '\(framework)'") }
        print("wrote \(try PyTorchExport.write(to: out))")
    }
}
