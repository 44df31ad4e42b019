"""The shop's terms: shipping, returns, payment, discounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mall import schemas

router = APIRouter(prefix="/terms", tags=["terms"])


@router.get("/shipping", response_model=schemas.ShippingTermsOut)
async def shipping(request: Request) -> dict[str, Any]:
    """Shipping fees, couriers and delivery times."""
    return request.app.state.terms["shipping"]


@router.get("/returns", response_model=schemas.ReturnsTermsOut)
async def returns(request: Request) -> dict[str, Any]:
    """Return and refund rules and how to apply."""
    return request.app.state.terms["returns"]


@router.get("/payment", response_model=schemas.PaymentTermsOut)
async def payment(request: Request) -> dict[str, Any]:
    """Payment methods, instalments and invoices."""
    return request.app.state.terms["payment"]


@router.get("/discounts", response_model=schemas.DiscountsTermsOut)
async def discounts(request: Request) -> dict[str, Any]:
    """Price protection and the promotions running now."""
    return request.app.state.terms["discounts"]
