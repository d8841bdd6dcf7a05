"""The one shared compiler options list (../shared/STYLE.md rule 8)."""

HD_COPTS = [
    "-std=c11",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wmissing-prototypes",
    "-Wstrict-prototypes",
    "-Wvla",
    "-Wwrite-strings",
    "-Wformat=2",
]

# Generated protobuf-c sources: same standard, warnings kept but not fatal-strict.
HD_GEN_COPTS = [
    "-std=c11",
    "-D_GNU_SOURCE",
    "-w",
]
