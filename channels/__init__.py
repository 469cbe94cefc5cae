"""Channel adapters (LINE, Facebook Messenger, web chat) behind one small interface."""
