"""The shop's terms: shipping, returns, payment, discounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mall import schemas
from mall.routes.deps import ok

router = APIRouter(prefix="/terms", tags=["terms"])


@router.get("/shipping", response_model=schemas.ShippingTermsOut)
async def shipping(request: Request) -> Response:
    """Shipping fees, couriers and delivery times."""
    return ok(request.app.state.terms["shipping"])


@router.get("/returns", response_model=schemas.ReturnsTermsOut)
async def returns(request: Request) -> Response:
    """Return and refund rules and how to apply."""
    return ok(request.app.state.terms["returns"])


@router.get("/payment", response_model=schemas.PaymentTermsOut)
async def payment(request: Request) -> Response:
    """Payment methods, instalments and invoices."""
    return ok(request.app.state.terms["payment"])


@router.get("/discounts", response_model=schemas.DiscountsTermsOut)
async def discounts(request: Request) -> Response:
    """Price protection and the promotions running now."""
    return ok(request.app.state.terms["discounts"])
