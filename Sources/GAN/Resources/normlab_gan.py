"""Normlab's GAN study in PyTorch: the same networks, loss and checkpoints, for GPUs.

Written by `normlab export pytorch`. It continues a run that Normlab (or this script) started,
on one device or on K GPUs with DistributedDataParallel, and writes checkpoints Normlab reads:

    python normlab_gan.py --resume run/checkpoint.safetensors --data celeba --iterations 20000 --out gpu
    torchrun --nproc_per_node 4 normlab_gan.py --resume run/checkpoint.safetensors --data celeba ...

or, from Python:

    from normlab_gan import load_checkpoint
    generator, critic, config = load_checkpoint("gpu/checkpoint.safetensors")
    images = generator.eval()(torch.randn(16, config["latent_size"]))   # [16, 3, R, R] in (-1, 1)

What is Normlab's here: the networks and their state-dict names, the WGAN-GP loss, spectral
norm (torch.nn.utils.spectral_norm: one power iteration, v then u, on every training-mode call,
so a critic step runs three and the generator step one), Adam and its state, the data's crop and
resize, log.csv, sample grids, and the checkpoint format with its checksums (CRC-32 of each
tensor and of the header). --data must hold the run's images: the first config["images"] of
CelebA's training split (or of the folder), as Normlab read them.
What is this script's own: the random numbers. They come from torch's generator, seeded by the
run's seed and the iteration, and each of K processes takes its share of every batch (BatchNorm's
statistics span all shares), so K processes compute what one would: a run continued here is the
same training as in Normlab, not the same bits.
"""
import argparse, functools, json, math, os, struct, sys, zlib
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
import torch.distributed as dist

# ---------------------------------------------------------------------------------------------
# The networks (names as in Normlab's checkpoints, so load_state_dict(strict=True) takes them)

class AdaIN(nn.Module):
    """Instance-normalise, then scale and shift each channel by affine maps of the latent code."""
    def __init__(self, channels, latent_size, eps=1e-5):
        super().__init__()
        self.scale, self.shift, self.eps = nn.Linear(latent_size, channels), nn.Linear(latent_size, channels), eps
        nn.init.ones_(self.scale.bias)
        nn.init.zeros_(self.shift.bias)

    def forward(self, x, z):
        centred = x - x.mean((2, 3), keepdim=True)
        std = torch.sqrt((centred * centred).mean((2, 3), keepdim=True) + self.eps)
        return centred * (self.scale(z)[:, :, None, None] / std) + self.shift(z)[:, :, None, None]


class AllReduce(torch.autograd.Function):
    """The sum over processes, differentiable: the gradient of a sum is the sum of gradients."""
    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        return AllReduce.apply(grad)


class BatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics span the whole batch when processes share it."""
    def forward(self, x):
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        n = x.numel() // x.shape[1] * dist.get_world_size()
        mean = AllReduce.apply(x.sum((0, 2, 3))) / n
        centred = x - mean[None, :, None, None]
        var = AllReduce.apply((centred * centred).sum((0, 2, 3))) / n
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
            self.num_batches_tracked += 1
        return centred * (self.weight / torch.sqrt(var + self.eps))[None, :, None, None] + self.bias[None, :, None, None]


class Generator(nn.Module):
    """Latent code -> 4x4 -> transposed convolutions doubling to resolution x resolution -> tanh."""
    def __init__(self, resolution=32, latent_size=128, width=256, norm="batch"):
        super().__init__()
        channels = [width]
        for _ in range(int(math.log2(resolution // 4))):
            channels.append(max(channels[-1] // 2, 8))
        self.width = width
        self.project = nn.Linear(latent_size, 16 * width)
        self.upsample = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, 2, 1) for a, b in zip(channels, channels[1:]))
        self.batch_norms = nn.ModuleList(BatchNorm(c) for c in channels[1:]) if norm == "batch" else nn.ModuleList()
        self.adains = nn.ModuleList(AdaIN(c, latent_size) for c in channels[1:]) if norm == "adain" else nn.ModuleList()
        self.output = nn.Conv2d(channels[-1], 3, 3, 1, 1)

    def forward(self, z):
        x = self.project(z).view(-1, self.width, 4, 4)
        for i, up in enumerate(self.upsample):
            x = up(x)
            x = F.relu(self.batch_norms[i](x) if len(self.batch_norms) else self.adains[i](x, z))
        return torch.tanh(self.output(x))


class Critic(nn.Module):
    """Strided 4x4 convolutions with leaky ReLU 0.2, no norm layer, a linear score; every layer
    spectrally normalized in the sn variants."""
    def __init__(self, resolution=32, width=64, spectral_norm=False):
        super().__init__()
        sn = (lambda m: nn.utils.spectral_norm(m, eps=1e-12)) if spectral_norm else (lambda m: m)
        layers, channels, size = [], 3, resolution
        while size > 4:
            layers += [sn(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2)]
            channels, size, width = width, size // 2, width * 2
        self.layers = nn.Sequential(*layers, nn.Flatten(), sn(nn.Linear(channels * 16, 1)))

    def forward(self, x):
        return self.layers(x).reshape(-1)

    @torch.no_grad()
    def sigmas(self):
        """sigma-hat = u . W v of each spectrally normalized layer, as Normlab logs it."""
        return [float(m.weight_u @ (m.weight_orig.flatten(1) @ m.weight_v)) for m in self.layers if hasattr(m, "weight_u")]


def build(config):
    """The generator and critic of a run's configuration."""
    variant = config["variant"]
    generator = Generator(config["resolution"], config["latent_size"], config["generator_width"], "adain" if "adain" in variant else "batch")
    critic = Critic(config["resolution"], config["critic_width"], spectral_norm=variant.startswith("sn"))
    return generator, critic


def critic_loss(critic, real, fake, eps, lam):
    """WGAN-GP: mean D(fake) - mean D(real) + lam * mean (|grad D(x_hat)| - 1)^2, x_hat = eps real + (1 - eps) fake.
    The critic runs on real, fake and x_hat, in that order (three power iterations)."""
    e = eps.reshape(-1, 1, 1, 1)
    x_hat = (e * real + (1 - e) * fake).requires_grad_()
    d_real, d_fake, d_hat = critic(real), critic(fake), critic(x_hat)
    grad, = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
    norms = torch.sqrt((grad * grad).flatten(1).sum(1))
    penalty = ((norms - 1) ** 2).mean()
    wasserstein = d_real.mean() - d_fake.mean()
    return lam * penalty - wasserstein, wasserstein, penalty, norms.mean()

# ---------------------------------------------------------------------------------------------
# Checkpoints: safetensors with Normlab's checksums in the metadata

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def header_text(shapes, meta):
    """What crc32_header sums: a line per tensor and per metadata entry, sorted by UTF-8 bytes."""
    lines = [f"tensor {name} {dtype} {','.join(map(str, shape))}" for name, (dtype, shape) in shapes.items()]
    lines += [f"meta {key}={value}" for key, value in meta.items() if key != "crc32_header"]
    return "\n".join(sorted(lines, key=str.encode))


def crc32(data):
    return f"{zlib.crc32(data):08x}"


def read_safetensors(path):
    """The tensors and metadata of a file, after checking its layout and checksums."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta, body = header.pop("__metadata__", {}), raw[8 + n:]
    shapes = {name: (e["dtype"], e["shape"]) for name, e in header.items()}
    if "crc32" not in meta or meta.get("crc32_header") != crc32(header_text(shapes, meta).encode()):
        raise ValueError(f"{path}: its header does not match its checksum (or it has none)")
    sums, end, tensors = json.loads(meta["crc32"]), 0, {}
    for name, e in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        start, stop = e["data_offsets"]
        data = body[start:stop]
        if start != end or sums.get(name) != crc32(data):
            raise ValueError(f"{path}: '{name}' is misplaced or does not match its checksum")
        end = stop
        flat = torch.frombuffer(bytearray(data), dtype=DTYPES[e["dtype"]]) if data else torch.empty(0, dtype=DTYPES[e["dtype"]])
        tensors[name] = flat.reshape(e["shape"]).clone()
    if end != len(body) or set(sums) != set(header):
        raise ValueError(f"{path}: its data and its checksums do not cover the same tensors")
    return tensors, meta


def write_safetensors(path, tensors, meta):
    """Writes atomically (a temporary file, flushed, then renamed), with the checksums."""
    entries, chunks, sums, offset = {}, [], {}, 0
    for name in sorted(tensors, key=str.encode):
        t = tensors[name].detach().cpu().contiguous()
        dtype = "I64" if t.dtype == torch.int64 else "F32"
        data = t.to(torch.int64 if dtype == "I64" else torch.float32).numpy().tobytes()
        entries[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        sums[name], offset = crc32(data), offset + len(data)
    meta = dict(meta, crc32=json.dumps(sums, sort_keys=True, separators=(",", ":")))
    meta["crc32_header"] = crc32(header_text({n: (e["dtype"], e["shape"]) for n, e in entries.items()}, meta).encode())
    header = json.dumps({**entries, "__metadata__": meta}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    write_atomically(path, struct.pack("<Q", len(header)) + header + b"".join(chunks))


def write_atomically(path, data):
    temporary = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def part(tensors, prefix):
    return {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}


def optimizer_state(tensors, meta, prefix):
    """torch.optim's state_dict from `<prefix>.state.<i>.<key>` tensors and `<prefix>.param_groups`."""
    state = {}
    for name, t in part(tensors, prefix + ".state.").items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = t
    groups = json.loads(meta[prefix + ".param_groups"])
    for group in groups:
        group["betas"] = tuple(map(float, group["betas"]))
    return {"state": state, "param_groups": groups}


def load_checkpoint(path, device="cpu"):
    """(generator, critic, config) of a checkpoint written by Normlab or this script; config is
    the run's settings (config["latent_size"], config["variant"], ...) with its iteration."""
    tensors, meta = read_safetensors(path)
    config = dict(json.loads(meta["config"]), iteration=int(meta["iteration"]), engine=meta["engine"])
    generator, critic = build(config)
    generator.load_state_dict(part(tensors, "generator."), strict=True)
    critic.load_state_dict(part(tensors, "critic."), strict=True)
    return generator.to(device), critic.to(device), config

# ---------------------------------------------------------------------------------------------
# Data: a CelebA directory (img_align_celeba/, training split) or any folder of images, cropped
# and resized as Normlab does

class Images(torch.utils.data.Dataset):
    def __init__(self, root, size, count):
        from PIL import Image                       # decoding needs Pillow (pip install pillow)
        self.open = Image.open
        celeba = os.path.isdir(os.path.join(root, "img_align_celeba"))
        self.folder = os.path.join(root, "img_align_celeba") if celeba else root
        files = sorted(f for f in os.listdir(self.folder) if f.lower().endswith((".png", ".jpg", ".jpeg")))
        partition = os.path.join(root, "list_eval_partition.txt")
        if celeba and os.path.exists(partition):
            train = {line.split()[0] for line in open(partition) if line.split()[1:] == ["0"]}
            files = [f for f in files if f in train]
        if len(files) < count:
            raise SystemExit(f"{root}: the run reads {count} images, the folder has {len(files)}")
        self.files, self.size, self.celeba = files[:count], size, celeba

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with self.open(os.path.join(self.folder, self.files[i])) as image:
            rgb = image.convert("RGB")
            x = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(rgb.height, rgb.width, 3)
        x = x.permute(2, 0, 1).float() / 255
        h, w = x.shape[1:]
        if self.celeba:                             # ProGAN's crop: 128x128 around (x 89, y 121)
            side = min(128, h, w)
            top, left = max(0, min(h - side, 121 - side // 2)), max(0, min(w - side, 89 - side // 2))
        else:                                       # the largest centred square
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
        return area_resize(x[:, top:top + side, left:left + side], self.size) * 2 - 1


def area_resize(x, size):
    """Each output pixel the mean of the input area it covers, fractional pixels by overlap."""
    if x.shape[1:] == (size, size):
        return x
    return (area_weights(x.shape[1], size) @ x.double() @ area_weights(x.shape[2], size).T).float()


@functools.lru_cache
def area_weights(n, size):
    """[size, n]: output i covers [i n / size, (i + 1) n / size) of the input."""
    w = torch.zeros(size, n, dtype=torch.float64)
    for i in range(size):
        start, end = i * n / size, (i + 1) * n / size
        for j in range(int(start), min(n, math.ceil(end))):
            w[i, j] = (min(end, j + 1) - max(start, j)) / (end - start)
    return w

# ---------------------------------------------------------------------------------------------
# Training

def seed_for(seed, kind, number):
    """A torch seed for one draw of a run: its seed, what it is for, and which one."""
    return (seed * 0x9E3779B97F4A7C15 + kind * 0xBF58476D1CE4E5B9 + number) % 2**64


def number(x):
    """A float32 as Swift prints it (shortest digits), so log.csv reads alike from either engine."""
    x = np.float32(x)
    if x == 0 or np.float32(1e-4) <= abs(x) <= 2**24:
        return np.format_float_positional(x, unique=True, trim="0")
    return np.format_float_scientific(x, unique=True, trim="-", exp_digits=2)


def save_grid(path, images):
    """images [N, 3, H, W] in [-1, 1] as a PNG grid: ceil(sqrt(N)) columns, 2 pixels of black."""
    n, _, h, w = images.shape
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = torch.full((3, rows * (h + 2) + 2, columns * (w + 2) + 2), -1.0)
    for i in range(n):
        top, left = 2 + (i // columns) * (h + 2), 2 + (i % columns) * (w + 2)
        grid[:, top:top + h, left:left + w] = images[i]
    pixels = torch.floor(((grid + 1) / 2).clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 8, 2, 0, 0, 0)
    write_atomically(path, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def batches(data, config, start, stop, share):
    """This process's share of the run's critic batches start..<stop: each epoch a permutation
    drawn from the seed and the epoch, cut into batches (the last short one dropped)."""
    batch, per_epoch, permutation = config["batch_size"], len(data) // config["batch_size"], {}
    for c in range(start, stop):
        epoch, position = divmod(c, per_epoch)
        if epoch not in permutation:
            permutation = {epoch: torch.randperm(len(data), generator=torch.Generator().manual_seed(seed_for(config["seed"], 1, epoch)))}
        yield permutation[epoch][position * batch:(position + 1) * batch][share].tolist()


def save_checkpoint(args, config, iteration, generator, critic, optimizers, log, latents, per_epoch):
    """checkpoint.safetensors (Normlab's format), then log.csv from the same log."""
    consumed = iteration * config["n_critic"]
    epochs = -(-consumed // per_epoch)
    meta = {"format": "pt", "normlab_checkpoint": "2", "engine": "pytorch", "config": json.dumps(dict(config, iterations=args.iterations), sort_keys=True),
            "iteration": str(iteration), "epoch": str(epochs), "batch_position": str(consumed - max(0, epochs - 1) * per_epoch)}
    out = {"log": torch.tensor(log, dtype=torch.float32).reshape(len(log), -1), "sample_latents": latents}
    for prefix, model in [("generator.", generator), ("critic.", critic)]:
        out.update({prefix + k: v for k, v in model.state_dict().items()})
    for prefix, optimizer in zip(["generator_optimizer", "critic_optimizer"], optimizers):
        state = optimizer.state_dict()
        for index, entries in state["state"].items():
            out.update({f"{prefix}.state.{index}.{k}": v for k, v in entries.items()})
        meta[prefix + ".param_groups"] = json.dumps(state["param_groups"])
    write_safetensors(os.path.join(args.out, "checkpoint.safetensors"), out, meta)
    columns = "iteration,critic_loss,wasserstein,penalty,gradient_norm,generator_loss" + (",sigmas" if len(log[0]) > 6 else "")
    rows = [f"{int(r[0])}," + ",".join(number(v) for v in r[1:6]) + ("," + " ".join(number(s) for s in r[6:]) if len(r) > 6 else "") for r in log]
    write_atomically(os.path.join(args.out, "log.csv"), ("\n".join([columns] + rows) + "\n").encode())


def train(args, distributed):
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    tensors, meta = read_safetensors(args.resume)
    config, iteration = json.loads(meta["config"]), int(meta["iteration"])
    if iteration >= args.iterations:
        raise SystemExit(f"nothing to do: {args.resume} is at iteration {iteration}; pass a larger --iterations to continue")
    batch, n_critic, lam, latent = config["batch_size"], config["n_critic"], config["lambda"], config["latent_size"]
    if batch % world:
        raise SystemExit(f"the batch of {batch} does not split evenly over {world} processes")
    share = slice(rank * batch // world, (rank + 1) * batch // world)
    generator, critic = build(config)
    generator.load_state_dict(part(tensors, "generator."))
    critic.load_state_dict(part(tensors, "critic."))
    generator, critic = generator.to(device), critic.to(device)
    optimizers = []
    for name, model in [("generator_optimizer", generator), ("critic_optimizer", critic)]:
        group = json.loads(meta[name + ".param_groups"])[0]
        optimizer = torch.optim.Adam(model.named_parameters(), lr=group["lr"], betas=tuple(map(float, group["betas"])), eps=group["eps"])
        optimizer.load_state_dict(optimizer_state(tensors, meta, name))
        optimizers.append(optimizer)
    opt_g, opt_d = optimizers
    models = generator, critic
    if distributed:
        ids = [device.index] if device.type == "cuda" else None
        generator, critic = nn.parallel.DistributedDataParallel(generator, ids), nn.parallel.DistributedDataParallel(critic, ids)
    data = Images(args.data, config["resolution"], config["images"])
    per_epoch = len(data) // batch
    workers = args.workers if args.workers is not None else (4 if device.type == "cuda" else 0)
    loader = iter(torch.utils.data.DataLoader(data, batch_sampler=batches(data, config, iteration * n_critic, args.iterations * n_critic, share),
                                              num_workers=workers, pin_memory=device.type == "cuda"))
    log, latents = tensors["log"].tolist(), tensors["sample_latents"].to(device)
    os.makedirs(args.out, exist_ok=True)
    while iteration < args.iterations:
        iteration += 1
        # One stream per iteration; every process draws the whole batch's numbers and takes its share.
        rng = torch.Generator().manual_seed(seed_for(config["seed"], 0, iteration))
        for _ in range(n_critic):
            real = next(loader).to(device)
            z, eps = torch.randn(batch, latent, generator=rng)[share].to(device), torch.rand(batch, generator=rng)[share].to(device)
            with torch.no_grad():
                fake = generator(z)
            loss, wasserstein, penalty, norm = critic_loss(critic, real, fake, eps, lam)
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        z = torch.randn(batch, latent, generator=rng)[share].to(device)
        g_loss = -critic(generator(z)).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        opt_d.zero_grad()                                # the generator step left gradients in the critic
        parts = torch.stack([wasserstein, penalty, norm, g_loss]).detach()
        if distributed:
            dist.all_reduce(parts)
            parts /= world
        wasserstein, penalty, norm, g_loss = parts.tolist()
        log.append([iteration, lam * penalty - wasserstein, wasserstein, penalty, norm, g_loss] + models[1].sigmas())
        if rank == 0:
            print(f"iteration {iteration}/{args.iterations}: W {wasserstein:.4f}, penalty {penalty:.4f}, generator loss {g_loss:.4f}", flush=True)
            if iteration % config["sample_every"] == 0:
                models[0].eval()
                with torch.no_grad():
                    save_grid(os.path.join(args.out, f"samples-{iteration:06d}.png"), models[0](latents).cpu())
                models[0].train()
            if iteration % config["checkpoint_every"] == 0 or iteration == args.iterations:
                save_checkpoint(args, config, iteration, *models, optimizers, log, latents, per_epoch)


def main(args):
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if not distributed:
        return train(args, distributed)
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    # train() returns before the group goes: its DistributedDataParallel wrappers, which hold
    # the group, are freed while the group still works.
    train(args, distributed)
    dist.barrier()                                       # no process leaves while rank 0 still writes
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and flushed. The interpreter's own finalization would destroy what
    # is left of PyTorch's communication objects in no set order, which can abort a process
    # after a finished run (a rank seen dying with SIGABRT on a CI machine): leave without it.
    os._exit(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Continue a Normlab training run in PyTorch (torchrun for several GPUs).")
    parser.add_argument("--resume", required=True, help="a checkpoint.safetensors written by Normlab or by this script")
    parser.add_argument("--data", required=True, help="the run's data: a CelebA directory (img_align_celeba/) or a folder of images")
    parser.add_argument("--iterations", type=int, required=True, help="where the run stops, counted from its start (as Normlab's --iterations)")
    parser.add_argument("--out", required=True, help="directory for checkpoint.safetensors, log.csv and samples-*.png")
    parser.add_argument("--workers", type=int, help="processes decoding images (default 4 on a GPU, 0 on the CPU)")
    main(parser.parse_args())
