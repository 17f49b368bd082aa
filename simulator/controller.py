"""Bumble's virtual controller, with the one HCI behaviour the simulator needs fixed."""

from __future__ import annotations

import asyncio

from bumble import core, hci
from bumble.controller import Controller

# What tearing down a Bumble link can raise: HCI/ATT/SMP protocol errors and Bumble's own
# errors (all ``BaseBumbleError``), or a timeout while the peer is already gone.
TEARDOWN_ERRORS: tuple[type[Exception], ...] = (core.BaseBumbleError, TimeoutError)


class VirtualController(Controller):
    """A Bumble ``Controller`` whose LE connection attempts can be cancelled.

    Bumble's controller acknowledges HCI_LE_Create_Connection_Cancel but keeps the pending
    connection, so a central that timed out connecting to a silent device can never connect
    again. Core spec Vol 4, Part E, 7.8.13: after a successful cancel the controller sends an
    LE Connection Complete event with status Unknown Connection Identifier (0x02).
    """

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # The Command Complete for the cancel goes out when this handler returns; the
        # Connection Complete must follow it, so send it on the next loop iteration.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


def reason_name(reason: int) -> str:
    """The HCI error name of a disconnection reason (Core Vol 1, Part F), for logs."""
    try:
        return hci.HCI_ErrorCode(reason).name
    except ValueError:
        return f"0x{reason:02X}"
