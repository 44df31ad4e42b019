"""Policy routes: shipping, returns, payment, discounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mall import schemas
from mall.routes.deps import ok

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get("/shipping", response_model=schemas.ShippingPolicyOut)
async def shipping(request: Request) -> Response:
    """Shipping fees, couriers and delivery times."""
    return ok(request.app.state.policies["shipping"])


@router.get("/returns", response_model=schemas.ReturnsPolicyOut)
async def returns(request: Request) -> Response:
    """Return and refund rules and how to apply."""
    return ok(request.app.state.policies["returns"])


@router.get("/payment", response_model=schemas.PaymentPolicyOut)
async def payment(request: Request) -> Response:
    """Payment methods, instalments and invoices."""
    return ok(request.app.state.policies["payment"])


@router.get("/discounts", response_model=schemas.DiscountsPolicyOut)
async def discounts(request: Request) -> Response:
    """Price protection and the promotions running now."""
    return ok(request.app.state.policies["discounts"])
