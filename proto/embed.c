/* Build tool: prints a C file defining a byte array with a file's contents, so data
 * (the reflection descriptor set) can be linked into a binary without a runtime file.
 * Usage: embed SYMBOL FILE > out.c */
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: embed SYMBOL FILE\n");
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    printf("#include <stddef.h>\n");
    printf("const unsigned char %s[] = {", argv[1]);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        printf("%s%d", (n % 24 == 0) ? "\n  " : "", c);
        printf(",");
        n++;
    }
    printf("\n  0};\n");
    printf("const size_t %s_len = %zu;\n", argv[1], n);
    int bad = ferror(f);
    fclose(f);
    return bad ? 1 : 0;
}
