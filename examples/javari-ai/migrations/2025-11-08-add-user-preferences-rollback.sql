DROP POLICY IF EXISTS "Users can manage own preferences" ON javari_user_preferences;
DROP TABLE IF EXISTS javari_user_preferences;
