"""Reference S2B2C mall service: catalogue, orders, coupons and card profiles over HTTP."""
