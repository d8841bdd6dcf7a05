/* `helpdesk completion bash`: prints a bash completion script generated from the command
 * table, so every registered group, subcommand and flag completes without edits here. */
#include <string.h>

#include "clients/cli/cli.h"

static const char global_flags[] =
    "--server --token --tls --ca --timeout --json --quiet --no-color --help";

static void print_cmd_flags(const hd_cli_cmd *c)
{
    for (const hd_cli_opt *o = c->opts; o && o->name; o++)
        printf(" --%s", o->name);
}

static int completion_bash(hd_cli *cli, const hd_cli_args *a)
{
    (void)cli;
    (void)a;
    printf("# bash completion for helpdesk; load with: source <(helpdesk completion bash)\n"
           "_helpdesk() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} group= sub= i w\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        w=${COMP_WORDS[i]}\n"
           "        case $w in -*) continue ;; esac\n"
           "        if [ -z \"$group\" ]; then group=$w; elif [ -z \"$sub\" ]; then sub=$w; fi\n"
           "    done\n"
           "    local words=\"%s\"\n"
           "    if [ -z \"$group\" ]; then\n"
           "        words=\"$words help",
           global_flags);
    for (const hd_cli_group *g = hd_cli_groups(); g; g = g->next)
        printf(" %s", g->name);
    printf("\"\n    else\n        case $group in\n");
    for (const hd_cli_group *g = hd_cli_groups(); g; g = g->next) {
        printf("        %s)\n", g->name);
        if (g->cmds[0].name && !g->cmds[0].name[0]) {
            printf("            words=\"$words");
            print_cmd_flags(&g->cmds[0]);
            printf("\" ;;\n");
            continue;
        }
        printf("            if [ -z \"$sub\" ]; then words=\"$words");
        for (const hd_cli_cmd *c = g->cmds; c->name; c++)
            printf(" %s", c->name);
        printf("\"; else case $sub in\n");
        for (const hd_cli_cmd *c = g->cmds; c->name; c++) {
            printf("                %s) words=\"$words", c->name);
            print_cmd_flags(c);
            printf("\" ;;\n");
        }
        printf("            esac; fi ;;\n");
    }
    printf("        esac\n    fi\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "}\n"
           "complete -o default -F _helpdesk helpdesk\n");
    return HD_CLI_EXIT_OK;
}

static const hd_cli_cmd completion_cmds[] = {
    {"bash", "Print a bash completion script", "", NULL, "source <(helpdesk completion bash)",
     completion_bash, 0, 0},
    {0},
};

HD_CLI_GROUP(completion, "Shell completion scripts", completion_cmds)
