// The demo's functional script: runs only with functional consent, and says so with a cookie.
document.cookie = "demo_preferences=wide; Path=/; Max-Age=31536000; SameSite=Lax";
window.demoPreferencesRan = true;
document.getElementById("preferences-status").textContent = "Preferences: remembered (the cookie demo_preferences is set).";
