/* The bridge from SLA actions to the ticket change engine: escalate (assign group/staff) and
 * raise priority as audited, observed ticket changes by the SYSTEM actor. */
#ifndef HD_SLA_TICKET_ACTIONS_H
#define HD_SLA_TICKET_ACTIONS_H

/* Installs the escalate and raise-priority operations with hd_sla_actions_set. Start-up
 * only. */
void hd_sla_ticket_actions_install(void);

#endif
