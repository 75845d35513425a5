// The demo's analytics: runs only with analytics consent, and says so with a cookie.
document.cookie = "demo_analytics=counted; Path=/; Max-Age=31536000; SameSite=Lax";
window.demoAnalyticsRan = true;
document.getElementById("analytics-status").textContent = "Analytics: running (the cookie demo_analytics is set).";
