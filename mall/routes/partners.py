"""Distributor and supplier figures: each partner account reads only its own.

The desk calls these with the service token and the partner's session
(`X-Agent-Session`): the token says the desk is calling, the session says who is asking,
and the mall checks that the account is that distributor (its card) or that supplier.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from mall import schemas
from mall.errors import Forbidden
from mall.routes.deps import DatabaseDep, Responses
from mall.routes.handoffs import AgentSession, signed_in
from mall.services import partners

router = APIRouter(tags=["partners"])
PARTNER_ERRORS: Responses = {
    401: {"model": schemas.ErrorOut, "description": "no live session"},
    403: {"model": schemas.ErrorOut, "description": "another partner's figures"},
}
ScopeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Days = Annotated[int, Query(ge=1, le=365)]


@router.get(
    "/distributors/{card_id}/stats",
    response_model=schemas.DistributorStatsOut,
    responses=PARTNER_ERRORS,
)
def distributor_stats(
    database: DatabaseDep, card_id: ScopeId, agent_session: AgentSession, days: Days = 60
) -> dict[str, Any]:
    """One distributor's chats, coupons, orders, revenue and conversion (their own only)."""
    with database.write_session() as session:
        account = signed_in(session, agent_session, role="distributor")
        if account.scope_id != card_id:
            # The same answer whether the card exists or not: nothing to probe.
            raise Forbidden("只能查看自己名片的数据")
        return partners.distributor_stats(session=session, card_id=card_id, days=days)


@router.get(
    "/suppliers/{supplier_id}/backflow",
    response_model=schemas.SupplierBackflowOut,
    responses=PARTNER_ERRORS,
)
def supplier_backflow(
    database: DatabaseDep, supplier_id: ScopeId, agent_session: AgentSession, days: Days = 90
) -> dict[str, Any]:
    """One supplier's out-of-stock inquiries, complaints and returns (their products only)."""
    with database.write_session() as session:
        account = signed_in(session, agent_session, role="supplier")
        if account.scope_id != supplier_id:
            raise Forbidden("只能查看自己商品的数据")
        return partners.supplier_backflow(session=session, supplier_id=supplier_id, days=days)
