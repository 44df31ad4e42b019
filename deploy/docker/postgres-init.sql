-- The tracker store's and the analytics facts' databases beside the mall's (POSTGRES_DB
-- creates `mall`).
CREATE DATABASE rasa OWNER assistant;
CREATE DATABASE analytics OWNER assistant;
