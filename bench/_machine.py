"""What the benchmarks read of the machine they run on."""

import time


def cpu_idle_share(seconds: float = 1.0) -> float:
    """The machine's idle share over a second (/proc/stat), to tell when others compete for it."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(value) for value in stat.readline().split()[1:]]
        return values[3] + values[4], sum(values)

    idle_before, total_before = sample()
    time.sleep(seconds)
    idle_after, total_after = sample()
    return (idle_after - idle_before) / max(1, total_after - total_before)
