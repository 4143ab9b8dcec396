"""A Spark job needing about 4 x N MiB of heap in one task: with N=160 it fails at 512m, runs at 1g.

The strings are built from a column, not constants, so the optimizer cannot fold them on the
driver: the allocation happens inside a task, where Spark reports an executor's failure.
"""

import sys

from pyspark.sql import SparkSession


def main(mib: int) -> None:
    """Concatenate two strings of MIB MiB each in one task and print the length."""
    spark = SparkSession.builder.getOrCreate()
    size = f"cast(id as int) + {mib} * 1024 * 1024"
    expr = f"length(concat(repeat('x', {size}), repeat('y', {size}))) as n"
    print("RESULT", spark.range(0, 1, 1, 1).selectExpr(expr).collect()[0].n)
    spark.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
