"""The machine under a benchmark row: the CPU model and the BLAS kernels each side
runs. Debian's OpenBLAS picks its kernels from the CPU model and falls back to old
ones on CPUs newer than it knows (embtool then starts itself again with better ones);
NumPy's wheel bundles a newer OpenBLAS. A BLAS timing means little without both."""
import subprocess


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def embtool_blas(embtool):
    """The `BLAS:` line of `embtool --version`: library, kernels, who chose them."""
    out = subprocess.run([embtool, "--version"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("BLAS: "):
            return line[len("BLAS: "):]
    return "unknown"


def numpy_blas():
    """The BLAS NumPy runs, as threadpoolctl reports it: library, version, kernels."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (threadpoolctl missing)"
    pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(f"{p.get('internal_api')} {p.get('version')} kernels: {p.get('architecture')}" for p in pools) or "none found"


def describe(embtool):
    return f"{cpu_model()}; embtool BLAS: {embtool_blas(embtool)}; NumPy BLAS: {numpy_blas()}"
